-- every interval contains its estimate (a hair of rounding allowed): S (headline, top-2-box and
-- mean index) and the gap
SELECT round, municipality_code, service_code, satisfaction, satisfaction_ci_low,
       satisfaction_ci_high, gap, gap_ci_low, gap_ci_high
FROM gap_scores
WHERE satisfaction IS NOT NULL
  AND (satisfaction_ci_low > satisfaction + 1e-9 OR satisfaction_ci_high < satisfaction - 1e-9
       OR gap_ci_low > gap + 1e-9 OR gap_ci_high < gap - 1e-9
       OR top2box_ci_low > satisfaction_top2box + 1e-9
       OR top2box_ci_high < satisfaction_top2box - 1e-9
       OR mean_index_ci_low > satisfaction_mean_index + 1e-9
       OR mean_index_ci_high < satisfaction_mean_index - 1e-9)
