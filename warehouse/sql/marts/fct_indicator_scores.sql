-- Each effectiveness indicator of the assessment used, scored 0-100 against its floor and
-- target: higher-is-better clamp((x - floor) / (target - floor)), lower-is-better the mirror
-- clamp((floor - x) / (floor - target)) (the same expression), yes/no 100 or 0. 'verified' says
-- whether a document was checked; unverified values are kept and flagged.
SELECT
    s.round, s.municipality_code, d.service_code, d.indicator_code, d.direction, d.answer,
    d.floor, d.target, d.weight,
    a.value,
    CASE WHEN d.answer = 'yes_no' THEN CASE a.value WHEN 'yes' THEN 100.0 WHEN 'no' THEN 0.0 END
         ELSE 100 * greatest(0, least(1, (a.value_numeric - d.floor) / (d.target - d.floor)))
    END AS score,
    coalesce(v.value = 'yes', false) AS verified,
    s.submission_id
FROM stg_assessments s
JOIN src_answers a ON a.form_id = 'lsg_assessment' AND a.submission_id = s.submission_id
                  AND a.repeat_path = ''
JOIN dim_indicator d ON d.indicator_code = a.question
LEFT JOIN src_answers v ON v.form_id = 'lsg_assessment' AND v.submission_id = s.submission_id
                       AND v.repeat_path = '' AND v.question = d.indicator_code || '_verified'
WHERE s.excluded_reason IS NULL AND a.value IS NOT NULL
