-- materialized: temp table
-- One row per live citizen interview: who, where, when, how long, how many questions answered.
-- A temporary table: only quality_flags and fct_interviews read it, and fct_interviews stores
-- every column of it with the interview's flags and use, which is what the reports read.
SELECT
    c._id AS submission_id,
    c._uuid,
    c._instance_id AS instance_id,
    n.instance_name,
    coalesce(c.study_round, m.definition_round) AS round,
    c.municipality AS municipality_code,
    c.village AS village_code,
    c.enumerator AS enumerator_code,
    c.consent,
    c.resp_sex AS sex,
    c.resp_age AS age,
    c.resp_age_group AS age_group,
    c.start AS started_at,
    c."end" AS ended_at,
    date_diff('second', c.start, c."end") AS duration_seconds,
    -- _submission_time is UTC without an offset: read as UTC, not in the session's time zone
    CAST(timezone(m.time_zone, coalesce(c.start, timezone('UTC', c._submission_time))) AS DATE)
        AS interview_date,
    c._submission_time AS submitted_at,
    c.gps_latitude,
    c.gps_longitude,
    c.gps_accuracy,
    c._validation_status AS validation_status,
    coalesce(a.answered, 0) AS answered
FROM src_citizen c
CROSS JOIN study_method m
LEFT JOIN (SELECT submission_id, instance_name FROM src_instance_names
           WHERE form_id = 'citizen_survey') n ON n.submission_id = c._id
-- answered: questions a person saw and answered (they have a label in the deployed form); the
-- phone's own values (start, end, today, deviceid) and calculations have none
LEFT JOIN (SELECT submission_id, count(*) AS answered FROM src_answers
           WHERE form_id = 'citizen_survey' AND value IS NOT NULL
             AND question IN (SELECT question FROM labels
                              WHERE form_id = 'citizen_survey' AND choice IS NULL)
           GROUP BY submission_id) a ON a.submission_id = c._id
