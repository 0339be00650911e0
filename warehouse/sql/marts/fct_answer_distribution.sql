-- The full distribution of answers to every item (missing codes included), weighted and not.
WITH counts AS (
    SELECT w.round, w.municipality_code, a.service_code, a.item_code, a.code,
           count(*) AS n, sum(w.weight) AS weight_sum
    FROM stg_item_answers a
    JOIN fct_weights w USING (submission_id)
    GROUP BY ALL
)
SELECT round, municipality_code, service_code, item_code, code, n,
       weight_sum / sum(weight_sum) OVER (PARTITION BY round, municipality_code, item_code)
           AS weighted_share
FROM counts
