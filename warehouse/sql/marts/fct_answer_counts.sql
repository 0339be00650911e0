-- materialized: temp table
-- The answers to every item per round x municipality x code, counted and weighted: what
-- fct_answer_distribution and fct_item_scores are made of (valid, satisfied and the score follow
-- from the code, so they group with it). One pass over the ~17 item answers per interview
-- instead of one per fact; a temporary table, as only those two read it.
SELECT c.round, c.municipality_code, i.service_code, i.item_code, c.code, c.valid, c.satisfied,
       c.score, c.n, c.weight_sum
FROM (SELECT w.round, w.municipality_code, a.item_key, a.code, a.valid, a.satisfied, a.score,
             count(*) AS n, sum(w.weight) AS weight_sum
      FROM stg_item_answers a
      JOIN fct_weights w USING (submission_id)
      GROUP BY ALL) c
JOIN dim_item i USING (item_key)
