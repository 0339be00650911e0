-- materialized: table
-- Every satisfaction item answer of a citizen interview, with its service and what it counts as:
-- valid (a scale code not marked missing), satisfied (a top-box code), the score 1-5. Item and
-- service by their integer keys (dim_item.item_key, dim_service.service_key), not their codes:
-- the table takes ~110 MB instead of ~200 MB at 200,000 interviews and groups faster.
-- A stored table, though only the scoring models read it: as a temporary table its 3.4 million
-- rows at 200,000 interviews take ~200 MB of the connection's 256 MB uncompressed, and the
-- models after it spill to disk (measured: 0.5 s more CPU in all than writing it to the file).
SELECT
    a.submission_id,
    CAST(i.item_key AS SMALLINT) AS item_key,
    CAST(d.service_key AS SMALLINT) AS service_key,
    a.value AS code,
    NOT coalesce(s.missing, true) AS valid,
    list_contains(m.top_box, a.value) AS satisfied,
    CASE WHEN NOT coalesce(s.missing, true) THEN a.value_numeric END AS score
FROM src_answers a
JOIN dim_item i ON i.item_code = a.question
JOIN dim_service d ON d.service_code = i.service_code
CROSS JOIN study_method m
LEFT JOIN dim_scale s ON s.scale = 'satisfaction' AND s.code = a.value
WHERE a.form_id = 'citizen_survey' AND a.repeat_path = '' AND a.value IS NOT NULL
