-- Effectiveness E per round x municipality x service (services that apply there): the weighted
-- mean of the indicator scores present, the coverage (share of the service's indicators present)
-- and E missing below method.min_effectiveness_coverage.
WITH assessed AS (
    SELECT DISTINCT round, municipality_code FROM stg_assessments WHERE excluded_reason IS NULL
),
cells AS (
    SELECT a.round, a.municipality_code, sm.service_code, s.indicators AS expected
    FROM assessed a
    JOIN dim_service_municipality sm USING (municipality_code)
    JOIN dim_service s USING (service_code)
),
present AS (
    SELECT round, municipality_code, service_code,
           count(score) AS present,
           sum(weight * score) FILTER (WHERE score IS NOT NULL)
               / sum(weight) FILTER (WHERE score IS NOT NULL) AS mean_score,
           count(score) FILTER (WHERE NOT verified) AS unverified
    FROM fct_indicator_scores GROUP BY ALL
)
SELECT
    c.round, c.municipality_code, c.service_code, c.expected,
    coalesce(p.present, 0) AS present,
    coalesce(p.unverified, 0) AS unverified,
    CASE WHEN c.expected > 0 THEN coalesce(p.present, 0) / c.expected ELSE 0 END AS coverage,
    CASE WHEN c.expected > 0 AND coalesce(p.present, 0) / c.expected >= m.min_effectiveness_coverage
         THEN p.mean_score END AS effectiveness
FROM cells c
CROSS JOIN study_method m
LEFT JOIN present p USING (round, municipality_code, service_code)
