-- gap_scores has one row per round x municipality x service
SELECT round, municipality_code, service_code, count(*) AS rows
FROM gap_scores GROUP BY ALL HAVING count(*) > 1
