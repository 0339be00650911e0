-- One row per citizen interview and quality rule it breaks, naming the interview so a supervisor
-- can find it on the server (instance name, instance id, enumerator, village, date).
WITH flags AS (
    -- too_short: less time than min_seconds_per_answer for each question answered
    SELECT i.submission_id, 'too_short' AS rule,
           format('{} s for {} answers (at least {} s expected)', i.duration_seconds, i.answered,
                  i.answered * m.min_seconds_per_answer) AS detail
    FROM stg_interviews i CROSS JOIN study_method m
    WHERE i.duration_seconds IS NOT NULL
      AND i.duration_seconds < i.answered * m.min_seconds_per_answer
    UNION ALL
    -- duplicate_instance: the same instance id in more than one live submission
    SELECT submission_id, 'duplicate_instance',
           format('instance id {} is also submission {}', instance_id, other)
    FROM (SELECT submission_id, instance_id,
                 min(submission_id) OVER (PARTITION BY instance_id) AS other,
                 count(*) OVER (PARTITION BY instance_id) AS copies
          FROM stg_interviews WHERE instance_id IS NOT NULL)
    WHERE copies > 1 AND submission_id <> other
    UNION ALL
    -- gps_missing: no location recorded
    SELECT submission_id, 'gps_missing', 'no GPS location'
    FROM stg_interviews WHERE consent = 'yes' AND (gps_latitude IS NULL OR gps_longitude IS NULL)
)
SELECT f.submission_id, f.rule, f.detail, i.round, i.municipality_code, i.village_code,
       i.enumerator_code, i.interview_date, i.instance_id, i.instance_name
FROM flags f JOIN stg_interviews i USING (submission_id)
