-- Per round x municipality x item: the valid base, the weighted top-box share and mean score
-- (from the counts per code: the score is the code's, so sum(w * score) = score * sum(w)).
SELECT
    round, municipality_code, service_code, item_code,
    CAST(sum(n) AS BIGINT) AS n,
    sum(weight_sum) AS weight_sum,
    sum(weight_sum * satisfied::INTEGER) / sum(weight_sum) AS top_box_share,
    sum(weight_sum * score) / sum(weight_sum) AS mean_score
FROM fct_answer_counts
WHERE valid
GROUP BY ALL
