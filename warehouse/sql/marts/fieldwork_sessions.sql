-- LSG assessments and focus-group sessions per round x municipality against the plan: one LSG
-- assessment per municipality, and sample_plan.focus_groups sessions of each group type
-- (plan_focus_groups). activity is 'lsg_assessment' (group_type NULL) or 'focus_group'.
-- submitted: live submissions; rejected: not approved by a supervisor; done = submitted -
-- rejected; remaining = planned - done, never below 0. A group type outside the plan that was
-- held shows with planned 0.
WITH rounds AS (
    SELECT DISTINCT round FROM fct_interviews
    UNION SELECT DISTINCT round FROM stg_assessments
    UNION SELECT DISTINCT round FROM stg_focus_groups
    UNION SELECT definition_round FROM study_method
),
planned AS (
    SELECT r.round, m.municipality_code, 'lsg_assessment' AS activity,
           CAST(NULL AS VARCHAR) AS group_type, 1 AS planned
    FROM rounds r CROSS JOIN dim_municipality m
    UNION ALL
    SELECT r.round, m.municipality_code, 'focus_group', g.group_type, g.sessions
    FROM rounds r CROSS JOIN dim_municipality m CROSS JOIN plan_focus_groups g
),
held AS (
    SELECT round, municipality_code, 'lsg_assessment' AS activity,
           CAST(NULL AS VARCHAR) AS group_type, assessment_date AS day,
           validation_status = 'validation_status_not_approved' AS rejected
    FROM stg_assessments
    UNION ALL
    SELECT round, municipality_code, 'focus_group', group_type, session_date,
           validation_status = 'validation_status_not_approved'
    FROM stg_focus_groups
),
done AS (
    SELECT round, municipality_code, activity, group_type,
           count(*) AS submitted,
           count(*) FILTER (WHERE coalesce(rejected, false)) AS rejected,
           count(*) FILTER (WHERE NOT coalesce(rejected, false)) AS done,
           min(day) AS first_day, max(day) AS last_day
    FROM held GROUP BY ALL
)
SELECT coalesce(p.round, d.round) AS round,
       coalesce(p.municipality_code, d.municipality_code) AS municipality_code,
       coalesce(p.activity, d.activity) AS activity,
       coalesce(p.group_type, d.group_type) AS group_type,
       coalesce(p.planned, 0) AS planned,
       coalesce(d.submitted, 0) AS submitted,
       coalesce(d.rejected, 0) AS rejected,
       coalesce(d.done, 0) AS done,
       greatest(coalesce(p.planned, 0) - coalesce(d.done, 0), 0) AS remaining,
       d.first_day, d.last_day
FROM planned p
FULL OUTER JOIN done d
    ON d.round = p.round AND d.municipality_code = p.municipality_code
   AND d.activity = p.activity AND d.group_type IS NOT DISTINCT FROM p.group_type
