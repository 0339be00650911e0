-- The gap between citizens' satisfaction S and the LSG's effectiveness E, one row per round x
-- municipality x service that applies there (DESIGN.md sections 4 and 5).
--
-- Interval of S: Wilson's score interval on the effective base n / deff, where
-- deff = var_design(S) / (S (1 - S) / n) (clustering and unequal weights together); with the mean
-- index as the headline, the normal interval on its design-based standard error.
-- Gap G = S - E; E comes from records (no sampling error), so G's interval is S's shifted by E.
-- Status: |G| <= T aligned, G > T perception_exceeds, G < -T performance_underrecognised;
-- insufficient_data when E is missing or S is suppressed (base n below method.suppress_below).
WITH rounds AS (
    SELECT DISTINCT round, municipality_code FROM fct_interviews
    UNION
    SELECT DISTINCT round, municipality_code FROM stg_assessments
),
cells AS (
    SELECT r.round, r.municipality_code, sm.service_code
    FROM rounds r JOIN dim_service_municipality sm USING (municipality_code)
),
s AS (
    SELECT f.*, f.satisfaction / 100 AS p,
           CASE WHEN f.satisfaction > 0 AND f.satisfaction < 100 AND f.variance_p IS NOT NULL
                THEN f.variance_p / ((f.satisfaction / 100) * (1 - f.satisfaction / 100) / f.n)
                ELSE 1.0 END AS deff
    FROM fct_satisfaction f
),
scored AS (
    SELECT
        c.round, c.municipality_code, c.service_code,
        coalesce(s.n, 0) AS n,
        s.items AS satisfaction_items,
        s.psus AS villages,
        s.satisfaction AS satisfaction_top2box,
        s.satisfaction_mean_index,
        s.deff AS design_effect,
        s.n / s.deff AS effective_n,
        100 * wilson_low(s.p, s.n / s.deff, m.z) AS top2box_ci_low,
        100 * wilson_high(s.p, s.n / s.deff, m.z) AS top2box_ci_high,
        s.satisfaction_mean_index - m.z * 25 * sqrt(s.variance_mean_score) AS mean_index_ci_low,
        s.satisfaction_mean_index + m.z * 25 * sqrt(s.variance_mean_score) AS mean_index_ci_high,
        i.importance,
        e.effectiveness,
        coalesce(e.coverage, 0) AS effectiveness_coverage,
        e.present AS effectiveness_indicators,
        e.expected AS effectiveness_indicators_expected,
        coalesce(e.unverified, 0) AS effectiveness_unverified,
        e.round IS NOT NULL AS assessed,
        coalesce(s.n, 0) < m.suppress_below AS suppressed,
        coalesce(s.n, 0) >= m.suppress_below AND coalesce(s.n, 0) < m.flag_below AS unreliable,
        m.headline_satisfaction, m.gap_threshold, m.quadrant_cut
    FROM cells c
    CROSS JOIN study_method m
    LEFT JOIN s USING (round, municipality_code, service_code)
    LEFT JOIN fct_importance i USING (round, municipality_code, service_code)
    LEFT JOIN fct_effectiveness e USING (round, municipality_code, service_code)
),
headline AS (
    SELECT *,
        CASE headline_satisfaction WHEN 'mean_index' THEN satisfaction_mean_index
             ELSE satisfaction_top2box END AS satisfaction,
        CASE headline_satisfaction WHEN 'mean_index' THEN greatest(0, mean_index_ci_low)
             ELSE top2box_ci_low END AS satisfaction_ci_low,
        CASE headline_satisfaction WHEN 'mean_index' THEN least(100, mean_index_ci_high)
             ELSE top2box_ci_high END AS satisfaction_ci_high
    FROM scored
),
gaps AS (
    SELECT *,
        CASE WHEN NOT suppressed THEN satisfaction - effectiveness END AS gap,
        CASE WHEN NOT suppressed THEN satisfaction_ci_low - effectiveness END AS gap_ci_low,
        CASE WHEN NOT suppressed THEN satisfaction_ci_high - effectiveness END AS gap_ci_high
    FROM headline
)
SELECT
    round, municipality_code, service_code, n,
    satisfaction, satisfaction_ci_low, satisfaction_ci_high,
    satisfaction_top2box, top2box_ci_low, top2box_ci_high,
    satisfaction_mean_index, mean_index_ci_low, mean_index_ci_high,
    importance, effectiveness, effectiveness_coverage, effectiveness_indicators,
    effectiveness_indicators_expected, effectiveness_unverified, assessed,
    gap, gap_ci_low, gap_ci_high,
    CASE WHEN gap IS NULL THEN 'insufficient_data'
         WHEN abs(gap) <= gap_threshold THEN 'aligned'
         WHEN gap > 0 THEN 'perception_exceeds'
         ELSE 'performance_underrecognised' END AS gap_status,
    CASE WHEN gap IS NULL THEN NULL
         WHEN effectiveness >= quadrant_cut AND satisfaction >= quadrant_cut THEN 'maintain'
         WHEN effectiveness >= quadrant_cut THEN 'communicate'
         WHEN satisfaction >= quadrant_cut THEN 'expectation_risk'
         ELSE 'fix_first' END AS quadrant,
    suppressed, unreliable,
    coalesce(gap_ci_low > 0 OR gap_ci_high < 0, false) AS gap_established,
    coalesce(gap_ci_low > gap_threshold OR gap_ci_high < -gap_threshold, false) AS gap_material,
    design_effect, effective_n, satisfaction_items, villages
FROM gaps
