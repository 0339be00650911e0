-- Satisfaction S per round x municipality x service, with its design-based variance.
--
-- Estimates. For item k of the service, p_k is the weighted top-box share among the item's valid
-- answers (codes marked missing left out of the base) and m_k the weighted mean score;
-- S = sum_k a_k p_k and the mean index (sum_k a_k m_k - 1) / 4 x 100, a_k the item weights
-- normalised over the items that have answers.
--
-- Variance by Taylor linearisation. S is a linear combination of ratio estimators; its linearised
-- variable is u_i = sum_k a_k w_i d_ik (y_ik - p_k) / W_k (d_ik = 1 when interview i gave item k a
-- valid answer, W_k = sum_i w_i d_ik). Interviews without a valid answer (non-users) have u_i = 0
-- and stay in the design: a domain estimate, as survey::svymean(~y, subset(design, domain)) gives.
-- How villages enter the design is the study definition's method.villages:
-- * clusters (the default, DESIGN.md 5.2): villages are the primary sampling units of the
--   municipality's design, survey::svydesign(ids = ~village, weights = ~w):
--     var = C / (C - 1) * sum_c U_c^2,  U_c = sum_{i in c} u_i  (the U_c sum to 0),
--   over the C villages with an interview used, with C - 1 degrees of freedom; with a single
--   village there is nothing to compare it with, and the strata formula below is used instead.
-- * strata (every village interviewed, as the sample plan in forms/sample_plan.py allocates):
--   villages are strata taken with certainty, respondents the sampling units,
--   survey::svydesign(ids = ~1, strata = ~village, weights = ~w):
--     var = sum_h n_h / (n_h - 1) * sum_{i in h} (u_i - mean_h(u))^2,   n_h = interviews in h,
--   with n - H degrees of freedom; a village with a single interview adds u_i^2 (survey's
--   lonely.psu = "adjust"). Between-village differences are then not sampling error.
-- Both variances are kept (variance_p_villages_as_psus, variance_p_villages_as_strata); the
-- chosen one is variance_p. On simulated rounds (bench/coverage.py) both hold the true S in
-- 0.92-0.98 of the cells: clusters (with t on C - 1) more widely and less evenly across bases,
-- strata more tightly. A village of the municipality with no interview (fieldwork failed there)
-- has its adults carried by the others' weights (warehouse/weights.py); villages_missing says so.
--
-- Design effect: var / var_srs, var_srs the variance of the same estimator under simple random
-- sampling of the n interviews in the domain, as survey::svymean(..., deff = TRUE) estimates it:
-- var_srs = n / (n - 1) * sigma_z^2 / n, with z_i = u_i W / w_i (W the weight sum of the n) and
-- sigma_z^2 = sum_i w_i z_i^2 / W = W * sum_i u_i^2 / w_i; for a single item p (1 - p) / (n - 1).
-- An unweighted simple random sample has deff 1.
WITH items AS (
    SELECT s.*, d.item_key, d.weight / sum(d.weight) OVER (PARTITION BY s.round, s.municipality_code,
                                                s.service_code) AS a
    FROM fct_item_scores s JOIN dim_item d USING (item_code, service_code)
),
-- each interview's linearised values u per service. Round, municipality and village follow from
-- the submission, so the answers are grouped by submission and service alone (and placed in their
-- village below). The LEFT JOIN gives what an inner join would (every valid answer of a weighted
-- interview has its item's row) but makes the planner join each answer to its interview first:
-- on tables made in this transaction, without statistics, it may otherwise join the interviews
-- with the items (30 rows per interview) and spill that to disk.
respondents AS (
    SELECT w.submission_id, a.service_key, any_value(w.weight) AS weight,
           sum(i.a * w.weight * (a.satisfied::INTEGER - i.top_box_share) / i.weight_sum) AS u_top,
           sum(i.a * w.weight * (a.score - i.mean_score) / i.weight_sum) AS u_mean
    FROM stg_item_answers a
    JOIN fct_weights w USING (submission_id)
    LEFT JOIN items i ON i.round = w.round AND i.municipality_code = w.municipality_code
                     AND i.item_key = a.item_key
    WHERE a.valid
    GROUP BY w.submission_id, a.service_key
),
villages AS (  -- every village with an interview used in the scores: the strata
    SELECT round, municipality_code, village_code, count(*) AS interviews
    FROM fct_weights GROUP BY ALL
),
design AS (
    SELECT v.round, v.municipality_code, count(*) AS villages, sum(v.interviews) AS interviews,
           any_value(d.villages) AS villages_in_municipality
    FROM villages v
    JOIN (SELECT municipality_code, count(*) AS villages FROM dim_village WHERE adults > 0
          GROUP BY ALL) d USING (municipality_code)
    GROUP BY ALL
),
-- the sums per village (strata or clusters); summed over the villages, the cell's n, weight sum
-- and sum of u^2 / w for the SRS variance
by_village AS (
    SELECT w.round, w.municipality_code, r.service_key, w.village_code, v.interviews,
           sum(r.u_top) AS s_top, sum(r.u_top * r.u_top) AS ss_top,
           sum(r.u_mean) AS s_mean, sum(r.u_mean * r.u_mean) AS ss_mean,
           count(*) AS n, sum(r.weight) AS weight_sum,
           sum(r.u_top * r.u_top / r.weight) AS su_top, sum(r.u_mean * r.u_mean / r.weight) AS su_mean
    FROM respondents r
    JOIN fct_weights w USING (submission_id)
    JOIN villages v USING (round, municipality_code, village_code)
    GROUP BY ALL
),
variance AS (
    SELECT round, municipality_code, service_code,
           sum(CASE WHEN interviews > 1
                    THEN interviews / (interviews - 1) * (ss_top - s_top * s_top / interviews)
                    ELSE ss_top END) AS variance_p,
           sum(CASE WHEN interviews > 1
                    THEN interviews / (interviews - 1) * (ss_mean - s_mean * s_mean / interviews)
                    ELSE ss_mean END) AS variance_mean_score,
           sum(s_top * s_top) AS between_top,
           sum(s_mean * s_mean) AS between_mean,
           CAST(sum(n) AS BIGINT) AS n, sum(weight_sum) AS weight_sum, sum(su_top) AS su_top,
           sum(su_mean) AS su_mean
    FROM by_village JOIN dim_service USING (service_key) GROUP BY ALL
),
estimates AS (
    SELECT round, municipality_code, service_code,
           sum(a * top_box_share) AS p, sum(a * mean_score) AS mean_score, count(*) AS items
    FROM items GROUP BY ALL
)
SELECT
    e.round, e.municipality_code, e.service_code, v.n, e.items,
    d.villages, d.villages_in_municipality - d.villages AS villages_missing,
    CASE WHEN m.villages = 'clusters' AND d.villages > 1 THEN 'clusters' ELSE 'strata' END
        AS variance_design,
    CASE WHEN m.villages = 'clusters' AND d.villages > 1 THEN d.villages - 1
         ELSE d.interviews - d.villages END AS degrees_of_freedom,
    100 * e.p AS satisfaction,
    (e.mean_score - 1) / 4 * 100 AS satisfaction_mean_index,
    CASE WHEN m.villages = 'clusters' AND d.villages > 1
         THEN d.villages / (d.villages - 1) * v.between_top
         ELSE greatest(v.variance_p, 0) END AS variance_p,
    CASE WHEN m.villages = 'clusters' AND d.villages > 1
         THEN d.villages / (d.villages - 1) * v.between_mean
         ELSE greatest(v.variance_mean_score, 0) END AS variance_mean_score,
    CASE WHEN v.n > 1 THEN v.weight_sum * v.su_top / (v.n - 1) END AS variance_p_srs,
    CASE WHEN v.n > 1 THEN v.weight_sum * v.su_mean / (v.n - 1) END AS variance_mean_score_srs,
    CASE WHEN d.villages > 1 THEN d.villages / (d.villages - 1) * v.between_top END
        AS variance_p_villages_as_psus,
    greatest(v.variance_p, 0) AS variance_p_villages_as_strata
FROM estimates e
CROSS JOIN study_method m
JOIN variance v USING (round, municipality_code, service_code)
JOIN design d USING (round, municipality_code)
