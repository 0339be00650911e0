-- Per round x municipality x item: the valid base, the weighted top-box share and mean score.
SELECT
    w.round, w.municipality_code, a.service_code, a.item_code,
    count(*) AS n,
    sum(w.weight) AS weight_sum,
    sum(w.weight * a.satisfied::INTEGER) / sum(w.weight) AS top_box_share,
    sum(w.weight * a.score) / sum(w.weight) AS mean_score
FROM stg_item_answers a
JOIN fct_weights w USING (submission_id)
WHERE a.valid
GROUP BY ALL
