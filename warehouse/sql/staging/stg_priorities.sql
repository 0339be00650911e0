-- materialized: view
-- The services each citizen named among their priorities.
SELECT c.submission_id, c.choice AS service_code
FROM src_choices c
JOIN dim_service s ON s.service_code = c.choice
WHERE c.form_id = 'citizen_survey' AND c.repeat_path = '' AND c.question = 'priority_services'
