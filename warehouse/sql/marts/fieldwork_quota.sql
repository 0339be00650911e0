-- Completed and used citizen interviews per round x municipality x village x sex x age group
-- against the sample plan's quota of that cell (plan_quota); cells outside the plan that got
-- interviews show with quota 0. remaining = quota - completed, never below 0; over = completed
-- beyond the quota.
WITH rounds AS (
    SELECT DISTINCT round FROM fct_interviews
    UNION
    SELECT definition_round FROM study_method
),
planned AS (
    SELECT r.round, q.municipality_code, q.village_code, q.sex, q.age_group,
           q.interviews AS quota
    FROM rounds r CROSS JOIN plan_quota q
),
done AS (
    SELECT round, municipality_code, village_code, sex, age_group,
           count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE used) AS used
    FROM fct_interviews
    WHERE completed AND sex IS NOT NULL AND age_group IS NOT NULL
    GROUP BY ALL
),
cells AS (
    SELECT coalesce(p.round, d.round) AS round,
           coalesce(p.municipality_code, d.municipality_code) AS municipality_code,
           coalesce(p.village_code, d.village_code) AS village_code,
           coalesce(p.sex, d.sex) AS sex,
           coalesce(p.age_group, d.age_group) AS age_group,
           coalesce(p.quota, 0) AS quota,
           coalesce(d.completed, 0) AS completed,
           coalesce(d.used, 0) AS used
    FROM planned p
    FULL OUTER JOIN done d
        ON d.round = p.round AND d.municipality_code = p.municipality_code
       AND d.village_code IS NOT DISTINCT FROM p.village_code AND d.sex = p.sex
       AND d.age_group = p.age_group
)
SELECT *,
       greatest(quota - completed, 0) AS remaining,
       greatest(completed - quota, 0) AS over,
       CASE WHEN quota > 0 THEN completed / quota END AS completed_share_of_quota
FROM cells
