-- The gap between citizens' satisfaction S and the LSG's effectiveness E, one row per round x
-- municipality x service that applies there (DESIGN.md sections 4 and 5).
--
-- Interval of S (fct_satisfaction gives S, its design-based variance V, the SRS variance and the
-- design's degrees of freedom): Wilson's score interval with Student's t on the design's degrees
-- of freedom in place of z, on the effective base n / deff_b, deff_b = V / (S (1 - S) / (n - 1))
-- the design effect against a binomial share of the same n (survey's SRS variance, so that an
-- unweighted simple random sample has deff_b = 1 and Wilson's interval on n). For a single item
-- deff_b is the design effect; a service of several items averages them, so S's own SRS variance is
-- below S (1 - S) / (n - 1) and its design_effect (V over that variance) is above deff_b. With
-- every answer alike (V = 0) or n = 1 the base is n. The mean index's interval is
-- index +- t * 25 * sqrt(V(mean score)), within 0-100. design_effect and effective_n = n / deff
-- belong to the headline estimate (method.headline_satisfaction).
-- Gap G = S - E; E comes from records (no sampling error), so G's interval is S's shifted by E.
-- Status: |G| <= T aligned, G > T perception_exceeds, G < -T performance_underrecognised;
-- insufficient_data when E is missing (no assessment, or coverage below the minimum) or S is
-- suppressed (base n below method.suppress_below; no valid answer at all is n = 0).
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
           t_quantile(0.5 + m.confidence_level / 2, f.degrees_of_freedom) AS q,
           -- no design effect from a design variance of 0 (identical villages, or one answer):
           -- the interval then rests on the plain base n. A variance below 1e-15 is rounding
           -- left by the sums (every answer alike gives 1e-20, not 0); a real one is far larger
           -- (a share's is at least about 1 / n^2)
           CASE WHEN f.variance_p > 1e-15 AND f.variance_p_srs > 1e-15
                THEN f.variance_p / f.variance_p_srs END AS deff_top,
           CASE WHEN f.variance_mean_score > 1e-15 AND f.variance_mean_score_srs > 1e-15
                THEN f.variance_mean_score / f.variance_mean_score_srs END AS deff_mean,
           -- n / deff of a binomial share of n with the design variance of S (see above)
           CASE WHEN f.variance_p > 1e-15 AND f.n > 1 AND f.satisfaction > 0
                     AND f.satisfaction < 100
                THEN f.n * (f.satisfaction / 100) * (1 - f.satisfaction / 100)
                     / ((f.n - 1) * f.variance_p)
                ELSE f.n END AS wilson_base
    FROM fct_satisfaction f CROSS JOIN study_method m
),
scored AS (
    SELECT
        c.round, c.municipality_code, c.service_code,
        coalesce(s.n, 0) AS n,
        s.items AS satisfaction_items,
        s.villages, s.villages_missing, s.degrees_of_freedom,
        s.satisfaction AS satisfaction_top2box,
        s.satisfaction_mean_index,
        CASE m.headline_satisfaction WHEN 'mean_index' THEN s.deff_mean ELSE s.deff_top END
            AS design_effect,
        s.n / CASE m.headline_satisfaction WHEN 'mean_index' THEN s.deff_mean ELSE s.deff_top END
            AS effective_n,
        s.wilson_base,
        100 * wilson_low(s.p, s.wilson_base, s.q) AS top2box_ci_low,
        100 * wilson_high(s.p, s.wilson_base, s.q) AS top2box_ci_high,
        greatest(0, s.satisfaction_mean_index - s.q * 25 * sqrt(s.variance_mean_score))
            AS mean_index_ci_low,
        least(100, s.satisfaction_mean_index + s.q * 25 * sqrt(s.variance_mean_score))
            AS mean_index_ci_high,
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
        CASE headline_satisfaction WHEN 'mean_index' THEN mean_index_ci_low
             ELSE top2box_ci_low END AS satisfaction_ci_low,
        CASE headline_satisfaction WHEN 'mean_index' THEN mean_index_ci_high
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
    design_effect, effective_n, wilson_base, satisfaction_items, villages, villages_missing,
    degrees_of_freedom
FROM gaps
