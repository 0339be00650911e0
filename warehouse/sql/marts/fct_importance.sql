-- Importance: the weighted share of respondents (used in the scores, priorities asked) naming the
-- service among their priorities, per round x municipality x service.
-- The weights of the respondents naming each service are summed first (one row per naming, not
-- per respondent x service); a service nobody named has importance 0.
WITH asked AS (
    SELECT w.submission_id, w.round, w.municipality_code, w.weight
    FROM fct_weights w
    WHERE EXISTS (SELECT 1 FROM stg_priorities p WHERE p.submission_id = w.submission_id)
),
bases AS (
    SELECT round, municipality_code, count(*) AS n, sum(weight) AS weight_sum
    FROM asked GROUP BY ALL
),
named AS (
    SELECT a.round, a.municipality_code, p.service_code, sum(a.weight) AS weight_sum
    FROM asked a JOIN stg_priorities p USING (submission_id)
    GROUP BY ALL
)
SELECT b.round, b.municipality_code, sm.service_code,
       b.n,
       100 * coalesce(n.weight_sum, 0) / b.weight_sum AS importance
FROM bases b
JOIN dim_service_municipality sm ON sm.municipality_code = b.municipality_code
LEFT JOIN named n ON n.round = b.round AND n.municipality_code = b.municipality_code
                 AND n.service_code = sm.service_code
