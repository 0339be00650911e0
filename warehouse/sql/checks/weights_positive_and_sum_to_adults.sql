-- weights are positive and each round x municipality's weights sum to its adult population
SELECT w.round, w.municipality_code, min(w.weight) AS smallest, sum(w.weight) AS total,
       any_value(m.adults) AS adults
FROM fct_weights w JOIN dim_municipality m USING (municipality_code)
GROUP BY ALL
HAVING min(w.weight) <= 0 OR abs(sum(w.weight) - any_value(m.adults)) > 1e-6 * any_value(m.adults)
