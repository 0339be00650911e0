-- materialized: temp table
-- Every satisfaction item answer of a citizen interview, with its service and what it counts as:
-- valid (a scale code not marked missing), satisfied (a top-box code), the score 1-5.
-- A temporary table: only the scoring models read it (the reports read the facts built from it),
-- and writing its ~17 rows per interview to the warehouse file cost more than any model using
-- them (1.4 s of CPU at 200,000 interviews).
SELECT
    a.submission_id,
    i.item_code,
    i.service_code,
    a.value AS code,
    NOT coalesce(s.missing, true) AS valid,
    list_contains(m.top_box, a.value) AS satisfied,
    CASE WHEN NOT coalesce(s.missing, true) THEN a.value_numeric END AS score
FROM src_answers a
JOIN dim_item i ON i.item_code = a.question
CROSS JOIN study_method m
LEFT JOIN dim_scale s ON s.scale = 'satisfaction' AND s.code = a.value
WHERE a.form_id = 'citizen_survey' AND a.repeat_path = '' AND a.value IS NOT NULL
