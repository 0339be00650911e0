-- Importance: the weighted share of respondents (used in the scores, priorities asked) naming the
-- service among their priorities, per round x municipality x service.
WITH asked AS (
    SELECT w.submission_id, w.round, w.municipality_code, w.weight
    FROM fct_weights w
    WHERE EXISTS (SELECT 1 FROM stg_priorities p WHERE p.submission_id = w.submission_id)
)
SELECT a.round, a.municipality_code, sm.service_code,
       count(*) AS n,
       100 * sum(CASE WHEN p.submission_id IS NOT NULL THEN a.weight ELSE 0 END) / sum(a.weight)
           AS importance
FROM asked a
JOIN dim_service_municipality sm ON sm.municipality_code = a.municipality_code
LEFT JOIN stg_priorities p ON p.submission_id = a.submission_id AND p.service_code = sm.service_code
GROUP BY ALL
