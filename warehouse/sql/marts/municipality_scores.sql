-- One row per round x municipality: the services scored, the plain and the importance-weighted
-- means of S, E and |G| over the cells with a gap, how many cells fall in each status and
-- quadrant, and the interviews used and left out.
WITH cells AS (
    SELECT round, municipality_code,
        count(*) AS services,
        count(*) FILTER (WHERE gap IS NOT NULL) AS services_with_gap,
        avg(satisfaction) FILTER (WHERE gap IS NOT NULL) AS satisfaction,
        avg(effectiveness) FILTER (WHERE gap IS NOT NULL) AS effectiveness,
        avg(abs(gap)) AS mean_abs_gap,
        sum(importance * satisfaction) FILTER (WHERE gap IS NOT NULL)
            / nullif(sum(importance) FILTER (WHERE gap IS NOT NULL), 0) AS satisfaction_priority_weighted,
        sum(importance * effectiveness) FILTER (WHERE gap IS NOT NULL)
            / nullif(sum(importance) FILTER (WHERE gap IS NOT NULL), 0) AS effectiveness_priority_weighted,
        sum(importance * abs(gap)) / nullif(sum(importance) FILTER (WHERE gap IS NOT NULL), 0)
            AS mean_abs_gap_priority_weighted,
        count(*) FILTER (WHERE gap_status = 'aligned') AS aligned,
        count(*) FILTER (WHERE gap_status = 'perception_exceeds') AS perception_exceeds,
        count(*) FILTER (WHERE gap_status = 'performance_underrecognised') AS performance_underrecognised,
        count(*) FILTER (WHERE gap_status = 'insufficient_data') AS insufficient_data,
        count(*) FILTER (WHERE quadrant = 'maintain') AS maintain,
        count(*) FILTER (WHERE quadrant = 'communicate') AS communicate,
        count(*) FILTER (WHERE quadrant = 'expectation_risk') AS expectation_risk,
        count(*) FILTER (WHERE quadrant = 'fix_first') AS fix_first,
        count(*) FILTER (WHERE gap_established) AS gaps_established,
        count(*) FILTER (WHERE suppressed) AS suppressed,
        count(*) FILTER (WHERE unreliable) AS unreliable,
        bool_or(assessed) AS assessed
    FROM gap_scores GROUP BY ALL
),
interviews AS (
    SELECT round, municipality_code, count(*) AS interviews,
           count(*) FILTER (WHERE used) AS interviews_used,
           count(*) FILTER (WHERE NOT used) AS interviews_excluded
    FROM fct_interviews GROUP BY ALL
)
SELECT c.*, coalesce(i.interviews, 0) AS interviews, coalesce(i.interviews_used, 0) AS interviews_used,
       coalesce(i.interviews_excluded, 0) AS interviews_excluded,
       w.weighting_efficiency, w.design_effect_weighting
FROM cells c
LEFT JOIN interviews i USING (round, municipality_code)
LEFT JOIN fct_weighting w USING (round, municipality_code)
