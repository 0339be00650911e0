-- every share and index, and every bound of their intervals, lies within 0-100 (coverage 0-1)
SELECT round, municipality_code, service_code, satisfaction, satisfaction_ci_low,
       satisfaction_ci_high, satisfaction_mean_index, importance, effectiveness,
       effectiveness_coverage
FROM gap_scores
WHERE NOT (coalesce(satisfaction BETWEEN 0 AND 100, true)
       AND coalesce(satisfaction_ci_low BETWEEN 0 AND 100, true)
       AND coalesce(satisfaction_ci_high BETWEEN 0 AND 100, true)
       AND coalesce(top2box_ci_low BETWEEN 0 AND 100, true)
       AND coalesce(top2box_ci_high BETWEEN 0 AND 100, true)
       AND coalesce(satisfaction_mean_index BETWEEN 0 AND 100, true)
       AND coalesce(mean_index_ci_low BETWEEN 0 AND 100, true)
       AND coalesce(mean_index_ci_high BETWEEN 0 AND 100, true)
       AND coalesce(importance BETWEEN 0 AND 100, true)
       AND coalesce(effectiveness BETWEEN 0 AND 100, true)
       AND effectiveness_coverage BETWEEN 0 AND 1)
