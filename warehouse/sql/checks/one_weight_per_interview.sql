-- every interview used in the scores has exactly one weight
SELECT submission_id, count(*) AS weights
FROM fct_weights GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT i.submission_id, 0 FROM fct_interviews i ANTI JOIN fct_weights w USING (submission_id)
WHERE i.used
