-- no estimate without a base: a satisfaction needs interviews, an effectiveness an assessment
SELECT round, municipality_code, service_code, n, satisfaction, effectiveness, assessed
FROM gap_scores
WHERE (satisfaction IS NOT NULL AND n = 0) OR (effectiveness IS NOT NULL AND NOT assessed)
   OR (gap IS NOT NULL AND (suppressed OR effectiveness IS NULL))
