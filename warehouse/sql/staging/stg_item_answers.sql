-- materialized: table
-- Every satisfaction item answer of a citizen interview, with its service and what it counts as:
-- valid (a scale code not marked missing), satisfied (a top-box code), the score 1-5.
-- A stored table, though only the scoring models read it: as a temporary table its 3.4 million
-- rows at 200,000 interviews take ~200 MB of the connection's 256 MB uncompressed, and the
-- models after it spill to disk (measured: 0.5 s more CPU in all than writing it to the file).
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
