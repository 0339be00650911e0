-- Every change between rounds lies in its interval, its p-value says what the interval says
-- (below 1 - confidence_level exactly when the interval excludes 0; warehouse/changes.py), and
-- the Benjamini-Hochberg adjustment never lowers a p-value. Rows within 1e-6 of the level are
-- left to rounding.
SELECT c.round_before, c.round_after, c.municipality_code, c.service_code, c.satisfaction_change,
       c.satisfaction_change_ci_low, c.satisfaction_change_ci_high, c.p_value, c.p_value_adjusted
FROM gap_changes c CROSS JOIN study_method m
WHERE c.satisfaction_change IS NOT NULL
  AND (c.satisfaction_change < c.satisfaction_change_ci_low - 1e-9
       OR c.satisfaction_change > c.satisfaction_change_ci_high + 1e-9
       OR c.p_value_adjusted < c.p_value - 1e-12
       OR (abs(c.p_value - (1 - m.confidence_level)) > 1e-6
           AND (c.p_value < 1 - m.confidence_level)
               <> (c.satisfaction_change_ci_low > 0 OR c.satisfaction_change_ci_high < 0)))
