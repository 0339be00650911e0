-- Citizen interviews per round x municipality x village x day against the sample plan's quota of
-- the village (plan_quota: the current definition's plan, applied to every round present and to
-- the definition's round before its first interview). One row per village and day with an
-- interview; a village of the plan without any yet has one row with day NULL, so every planned
-- village shows; a village outside the plan shows with quota 0.
-- Per day: interviews (live submissions), refusals (no consent), rejected (not approved by a
-- supervisor), completed (fct_interviews.completed: consent, not rejected, not a second copy),
-- used (in the scores), enumerators at work. To date: completed and used so far in the village,
-- and their shares of its quota.
WITH rounds AS (
    SELECT DISTINCT round FROM fct_interviews
    UNION
    SELECT definition_round FROM study_method
),
quota AS (
    SELECT municipality_code, village_code, CAST(sum(interviews) AS BIGINT) AS quota
    FROM plan_quota GROUP BY ALL
),
villages AS (
    SELECT r.round, q.municipality_code, q.village_code, q.quota
    FROM rounds r CROSS JOIN quota q
    UNION ALL
    SELECT DISTINCT i.round, i.municipality_code, i.village_code, 0
    FROM fct_interviews i
    WHERE NOT EXISTS (SELECT 1 FROM quota q WHERE q.municipality_code = i.municipality_code
                                              AND q.village_code = i.village_code)
),
days AS (
    SELECT round, municipality_code, village_code, interview_date AS day,
           count(*) AS interviews,
           count(*) FILTER (WHERE coalesce(consent, '') <> 'yes') AS refusals,
           count(*) FILTER (WHERE validation_status = 'validation_status_not_approved') AS rejected,
           count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE used) AS used,
           count(DISTINCT enumerator_code) AS enumerators
    FROM fct_interviews
    GROUP BY ALL
),
progress AS (
    SELECT v.round, v.municipality_code, v.village_code, d.day, v.quota,
           coalesce(d.interviews, 0) AS interviews,
           coalesce(d.refusals, 0) AS refusals,
           coalesce(d.rejected, 0) AS rejected,
           coalesce(d.completed, 0) AS completed,
           coalesce(d.used, 0) AS used,
           coalesce(d.enumerators, 0) AS enumerators
    FROM villages v
    LEFT JOIN days d ON d.round = v.round AND d.municipality_code = v.municipality_code
                    AND d.village_code IS NOT DISTINCT FROM v.village_code
)
SELECT *,
       CAST(sum(completed) OVER village_to_date AS BIGINT) AS completed_to_date,
       CAST(sum(used) OVER village_to_date AS BIGINT) AS used_to_date,
       CASE WHEN quota > 0 THEN sum(completed) OVER village_to_date / quota END
           AS completed_share_of_quota,
       CASE WHEN quota > 0 THEN sum(used) OVER village_to_date / quota END AS used_share_of_quota
FROM progress
WINDOW village_to_date AS (PARTITION BY round, municipality_code, village_code ORDER BY day
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
