-- The full distribution of answers to every item (missing codes included), weighted and not.
WITH counts AS (
    SELECT round, municipality_code, service_code, item_code, code, CAST(sum(n) AS BIGINT) AS n,
           sum(weight_sum) AS weight_sum
    FROM fct_answer_counts
    GROUP BY ALL
)
SELECT round, municipality_code, service_code, item_code, code, n,
       weight_sum / sum(weight_sum) OVER (PARTITION BY round, municipality_code, item_code)
           AS weighted_share
FROM counts
