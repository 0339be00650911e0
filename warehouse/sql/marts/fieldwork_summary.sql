-- One row per round x municipality: the citizen interviews against the plan (quota, interviews,
-- refusals, rejected, completed, used in the scores, left out, with a quality flag), the days
-- worked, and the LSG assessment and focus-group sessions done against plan. The first sheet of
-- a fieldwork workbook; fieldwork_progress, fieldwork_quota and fieldwork_sessions hold the detail.
WITH villages AS (
    SELECT round, municipality_code, CAST(sum(quota) AS BIGINT) AS quota FROM (
        SELECT DISTINCT round, municipality_code, village_code, quota FROM fieldwork_progress)
    GROUP BY ALL
),
interviews AS (
    SELECT round, municipality_code,
           count(*) AS interviews,
           count(*) FILTER (WHERE coalesce(consent, '') <> 'yes') AS refusals,
           count(*) FILTER (WHERE validation_status = 'validation_status_not_approved') AS rejected,
           count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE used) AS used,
           count(*) FILTER (WHERE NOT used) AS excluded,
           count(*) FILTER (WHERE len(flags) > 0) AS flagged,
           count(DISTINCT enumerator_code) AS enumerators,
           count(DISTINCT interview_date) AS days_worked,
           min(interview_date) AS first_day,
           max(interview_date) AS last_day
    FROM fct_interviews GROUP BY ALL
),
sessions AS (
    SELECT round, municipality_code,
           CAST(sum(planned) FILTER (WHERE activity = 'lsg_assessment') AS BIGINT) AS assessments_planned,
           CAST(sum(done) FILTER (WHERE activity = 'lsg_assessment') AS BIGINT) AS assessments_done,
           CAST(sum(planned) FILTER (WHERE activity = 'focus_group') AS BIGINT) AS focus_groups_planned,
           CAST(sum(done) FILTER (WHERE activity = 'focus_group') AS BIGINT) AS focus_groups_done
    FROM fieldwork_sessions GROUP BY ALL
)
SELECT v.round, v.municipality_code, v.quota,
       coalesce(i.interviews, 0) AS interviews,
       coalesce(i.refusals, 0) AS refusals,
       coalesce(i.rejected, 0) AS rejected,
       coalesce(i.completed, 0) AS completed,
       coalesce(i.used, 0) AS used,
       coalesce(i.excluded, 0) AS excluded,
       coalesce(i.flagged, 0) AS flagged,
       CASE WHEN v.quota > 0 THEN coalesce(i.completed, 0) / v.quota END AS completed_share_of_quota,
       CASE WHEN v.quota > 0 THEN coalesce(i.used, 0) / v.quota END AS used_share_of_quota,
       coalesce(i.enumerators, 0) AS enumerators,
       coalesce(i.days_worked, 0) AS days_worked,
       i.first_day, i.last_day,
       coalesce(s.assessments_planned, 0) AS assessments_planned,
       coalesce(s.assessments_done, 0) AS assessments_done,
       coalesce(s.focus_groups_planned, 0) AS focus_groups_planned,
       coalesce(s.focus_groups_done, 0) AS focus_groups_done
FROM villages v
LEFT JOIN interviews i USING (round, municipality_code)
LEFT JOIN sessions s USING (round, municipality_code)
