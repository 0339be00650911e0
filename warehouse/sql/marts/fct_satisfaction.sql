-- Satisfaction S per round x municipality x service with its design-based variance.
--
-- S = sum_k a_k p_k over the service's items k with answers (a_k = item weights normalised over
-- those items), p_k the weighted top-box share among valid answers. The mean index is the same
-- with the mean score: (sum_k a_k mean_k - 1) / 4 x 100.
-- Variance by Taylor linearisation, villages as the clusters (PSUs) of the municipality's design,
-- as R's survey::svymean(~y, subset(svydesign(ids = ~village, weights = ~w), domain)) gives:
-- each respondent's linearised value u_i = sum_k a_k w_i (y_ik - p_k) / W_k (W_k = weight sum of
-- item k's valid answers), cluster totals U_c = sum_i u_i, and
-- var(S) = C / (C - 1) * sum_c U_c^2 over the C villages with an interview used in the scores
-- (the U_c sum to zero, so their mean drops out). With a single village the respondents are the
-- clusters instead.
WITH base AS (
    SELECT a.submission_id, a.service_code, a.item_code, a.satisfied::INTEGER AS y, a.score,
           w.round, w.municipality_code, w.village_code, w.weight
    FROM stg_item_answers a JOIN fct_weights w USING (submission_id)
    WHERE a.valid
),
items AS (
    SELECT s.*, d.weight / sum(d.weight) OVER (PARTITION BY s.round, s.municipality_code,
                                                s.service_code) AS a
    FROM fct_item_scores s JOIN dim_item d USING (item_code, service_code)
),
respondents AS (
    SELECT b.round, b.municipality_code, b.service_code, b.village_code, b.submission_id,
           sum(i.a * b.weight * (b.y - i.top_box_share) / i.weight_sum) AS u_top,
           sum(i.a * b.weight * (b.score - i.mean_score) / i.weight_sum) AS u_mean
    FROM base b JOIN items i USING (round, municipality_code, service_code, item_code)
    GROUP BY ALL
),
clusters AS (
    SELECT round, municipality_code, service_code, village_code,
           sum(u_top) AS u_top, sum(u_mean) AS u_mean
    FROM respondents GROUP BY ALL
),
design AS (
    SELECT round, municipality_code, count(DISTINCT village_code) AS psus
    FROM fct_weights GROUP BY ALL
),
by_cluster AS (
    SELECT round, municipality_code, service_code,
           sum(u_top * u_top) AS ss_top, sum(u_mean * u_mean) AS ss_mean
    FROM clusters GROUP BY ALL
),
by_respondent AS (
    SELECT round, municipality_code, service_code, count(*) AS n,
           sum(u_top * u_top) AS ss_top, sum(u_mean * u_mean) AS ss_mean
    FROM respondents GROUP BY ALL
),
estimates AS (
    SELECT round, municipality_code, service_code,
           sum(a * top_box_share) AS p, sum(a * mean_score) AS mean_score, count(*) AS items
    FROM items GROUP BY ALL
)
SELECT
    e.round, e.municipality_code, e.service_code, r.n, e.items, d.psus,
    100 * e.p AS satisfaction,
    (e.mean_score - 1) / 4 * 100 AS satisfaction_mean_index,
    CASE WHEN d.psus > 1 THEN d.psus / (d.psus - 1) * c.ss_top
         WHEN r.n > 1 THEN r.n / (r.n - 1) * r.ss_top END AS variance_p,
    CASE WHEN d.psus > 1 THEN d.psus / (d.psus - 1) * c.ss_mean
         WHEN r.n > 1 THEN r.n / (r.n - 1) * r.ss_mean END AS variance_mean_score,
    d.psus > 1 AS clustered
FROM estimates e
JOIN by_respondent r USING (round, municipality_code, service_code)
JOIN by_cluster c USING (round, municipality_code, service_code)
JOIN design d USING (round, municipality_code)
