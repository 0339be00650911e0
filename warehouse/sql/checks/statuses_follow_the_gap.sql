-- a cell has a gap exactly when it has a status other than insufficient_data and a quadrant; a
-- gap is established only when it exists; design effects and effective bases are positive
SELECT round, municipality_code, service_code, gap, gap_status, quadrant, gap_established,
       design_effect, wilson_base
FROM gap_scores
WHERE (gap IS NULL) <> (gap_status = 'insufficient_data')
   OR (gap IS NULL) <> (quadrant IS NULL)
   OR (gap IS NULL AND gap_established)
   OR design_effect <= 0 OR wilson_base <= 0
