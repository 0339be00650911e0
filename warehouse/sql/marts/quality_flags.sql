-- One row per citizen interview and quality rule it breaks, naming the interview so a supervisor
-- can find it on the server (instance name, instance id, submission id, enumerator, village, date),
-- with a detail saying why, the measure the rule took and the threshold it crossed. Thresholds
-- are the settings under 'quality:' in indicators.yaml (forms/README.md says why each default is
-- where it is); 'excludes' says whether the rule's exclusion is on (quality.exclude).
--
-- duplicate_instance  the same instance id in more than one live submission: every copy after the
--                     first (lowest submission id) is flagged; measure = copies.
-- outside_window      interview date (in quality.time_zone) before study.fieldwork_start or after
--                     study.fieldwork_end; only interviews of the definition's own round (the
--                     window is that round's); with no window set nothing is flagged.
--                     measure = days outside the window.
-- too_short           consented; the phone's end - start below quality.min_seconds_per_answer for
--                     each question answered (questions a person saw); measure = seconds per answer.
-- straight_lining     consented; of the service blocks with at least two valid (1-5) answers, at
--                     least quality.straight_lining_min_blocks blocks, and a share of at least
--                     quality.straight_lining_share answered with one code throughout (a missing
--                     code 8 or 9 counts as an answer there); measure = that share.
-- gps_missing         consented, no location recorded.
-- gps_far             consented, farther than quality.gps_max_km from the village's centre even
--                     after the fix's stated accuracy is taken off. The centre is the median
--                     latitude and longitude of the village's located interviews (all rounds), so a
--                     minority of wrong locations cannot move it; a village needs
--                     quality.gps_min_interviews located interviews for a centre. measure = km.
-- enumerator_outlier  every consented interview of an enumerator whose answers stand far from their
--                     peers' in the same villages. Each valid item answer (1-5) less the mean of
--                     the other enumerators' answers to that item in that village and round; an
--                     interview's residual is the mean over its answers, the enumerator's d the
--                     mean over their interviews (enumerators with at least
--                     quality.enumerator_min_interviews such interviews), and
--                     z = (d - median d) / max(1.4826 MAD(d), standard error of d) over the
--                     round's enumerators: the modified z-score of Iglewicz and Hoaglin (with
--                     1.253314 x the mean absolute deviation when the MAD is 0, as they advise),
--                     its scale floored at the enumerator's own sampling error so that chance
--                     cannot make an outlier when the enumerators agree closely. Needs three
--                     enumerators to compare (with two, each is the other's mirror). Flagged when
--                     |z| > quality.enumerator_outlier_z; measure = z.
WITH duplicate_instance AS (
    SELECT submission_id, 'duplicate_instance' AS rule,
           format('instance id {} reached the server {} times; submission {} is the first copy',
                  instance_id, copies, first_copy) AS detail,
           copies::DOUBLE AS measure, 1.0 AS threshold
    FROM (SELECT submission_id, instance_id,
                 min(submission_id) OVER (PARTITION BY instance_id) AS first_copy,
                 count(*) OVER (PARTITION BY instance_id) AS copies
          FROM stg_interviews WHERE instance_id IS NOT NULL)
    WHERE submission_id <> first_copy
),
outside_window AS (
    SELECT i.submission_id, 'outside_window',
           format('interviewed on {}, outside the fieldwork window {} to {}', i.interview_date,
                  coalesce(CAST(w.first_day AS VARCHAR), '(open)'),
                  coalesce(CAST(w.last_day AS VARCHAR), '(open)')),
           CAST(CASE WHEN i.interview_date < w.first_day
                     THEN date_diff('day', i.interview_date, w.first_day)
                     ELSE date_diff('day', w.last_day, i.interview_date) END AS DOUBLE),
           0.0
    FROM stg_interviews i
    CROSS JOIN (SELECT definition_round, TRY_CAST(fieldwork_start AS DATE) AS first_day,
                       TRY_CAST(fieldwork_end AS DATE) AS last_day FROM study_method) w
    WHERE i.round = w.definition_round
      AND (i.interview_date < w.first_day OR i.interview_date > w.last_day)
),
too_short AS (
    SELECT i.submission_id, 'too_short',
           format('{} s for {} questions answered: {:.1f} s each, under the {} s a question takes at least',
                  i.duration_seconds, i.answered, i.duration_seconds / i.answered,
                  m.min_seconds_per_answer),
           i.duration_seconds / i.answered, m.min_seconds_per_answer
    FROM stg_interviews i CROSS JOIN study_method m
    WHERE i.consent = 'yes' AND i.answered > 0 AND i.duration_seconds IS NOT NULL
      AND i.duration_seconds < i.answered * m.min_seconds_per_answer
),
blocks AS (
    -- the service blocks with two or more valid answers, and whether one code runs through them
    SELECT submission_id, service_key, min(code) = max(code) AS straight, min(code) AS code
    FROM stg_item_answers
    GROUP BY submission_id, service_key
    HAVING count(*) FILTER (WHERE valid) >= 2
),
block_counts AS (
    SELECT submission_id, count(*) AS counted, count(*) FILTER (WHERE straight) AS straight
    FROM blocks GROUP BY submission_id
),
straight_lined AS (
    SELECT b.*, m.straight_lining_share
    FROM block_counts b
    JOIN stg_interviews i USING (submission_id)
    CROSS JOIN study_method m
    WHERE i.consent = 'yes' AND b.counted >= m.straight_lining_min_blocks
      AND b.straight >= m.straight_lining_share * b.counted
),
straight_lining AS (
    SELECT l.submission_id, 'straight_lining',
           format('{} of {} service blocks answered with one code throughout: {}',
                  any_value(l.straight), any_value(l.counted),
                  string_agg(s.service_code || ' ' || b.code, ', ' ORDER BY s.sort_order)),
           any_value(l.straight) / any_value(l.counted), any_value(l.straight_lining_share)
    FROM straight_lined l
    JOIN blocks b ON b.submission_id = l.submission_id AND b.straight
    JOIN dim_service s USING (service_key)
    GROUP BY l.submission_id
),
gps_missing AS (
    SELECT submission_id, 'gps_missing', 'no GPS location recorded', CAST(NULL AS DOUBLE),
           CAST(NULL AS DOUBLE)
    FROM stg_interviews
    WHERE consent = 'yes' AND (gps_latitude IS NULL OR gps_longitude IS NULL)
),
centres AS (
    SELECT village_code, median(gps_latitude) AS latitude, median(gps_longitude) AS longitude,
           count(*) AS located
    FROM stg_interviews
    WHERE gps_latitude IS NOT NULL AND gps_longitude IS NOT NULL AND village_code IS NOT NULL
    GROUP BY village_code
),
distances AS (
    -- great-circle distance (haversine, mean Earth radius 6371.0088 km)
    SELECT i.submission_id, i.village_code, c.located,
           2 * 6371.0088 * asin(sqrt(least(1.0,
               pow(sin(radians(i.gps_latitude - c.latitude) / 2), 2)
               + cos(radians(c.latitude)) * cos(radians(i.gps_latitude))
                 * pow(sin(radians(i.gps_longitude - c.longitude) / 2), 2)))) AS km,
           coalesce(i.gps_accuracy, 0) / 1000 AS accuracy_km
    FROM stg_interviews i JOIN centres c USING (village_code)
    WHERE i.consent = 'yes' AND i.gps_latitude IS NOT NULL AND i.gps_longitude IS NOT NULL
),
gps_far AS (
    SELECT d.submission_id, 'gps_far',
           format('{:.1f} km from the centre of village {} (the median of its {} located interviews); the fix is accurate to {:.0f} m',
                  d.km, d.village_code, d.located, 1000 * d.accuracy_km),
           d.km, m.gps_max_km
    FROM distances d CROSS JOIN study_method m
    WHERE d.located >= m.gps_min_interviews AND d.km - d.accuracy_km > m.gps_max_km
),
-- the valid answers of consented interviews with an enumerator, keyed by integers (a tenth of
-- the work of grouping and joining 3 million answers on text): g numbers the round x village x
-- enumerator of the interview, rv its round x village, k the item. An interview without a round
-- or village has no peers (as a join on NULL codes finds none).
groups AS (
    SELECT round, village_code, enumerator_code,
           row_number() OVER (ORDER BY round, village_code, enumerator_code) AS g,
           dense_rank() OVER (ORDER BY round, village_code) AS rv
    FROM (SELECT DISTINCT round, village_code, enumerator_code FROM stg_interviews
          WHERE consent = 'yes' AND enumerator_code IS NOT NULL AND round IS NOT NULL
            AND village_code IS NOT NULL)
),
interviewers AS (
    SELECT i.submission_id, i.round, i.enumerator_code, g.g, g.rv
    FROM stg_interviews i JOIN groups g USING (round, village_code, enumerator_code)
    WHERE i.consent = 'yes'
),
item_answers AS (
    SELECT i.g, i.rv, a.submission_id, a.item_key AS k, a.score
    FROM stg_item_answers a
    JOIN interviewers i USING (submission_id)
    WHERE a.valid
),
by_enumerator AS (
    SELECT g, rv, k, sum(score) AS total, count(*) AS n FROM item_answers GROUP BY ALL
),
by_village AS (
    SELECT rv, k, sum(total) AS total, sum(n) AS n FROM by_enumerator GROUP BY ALL
),
peers AS (
    SELECT e.g, e.k, (v.total - e.total) / (v.n - e.n) AS peer_mean
    FROM by_enumerator e JOIN by_village v USING (rv, k)
    WHERE v.n > e.n
),
residuals AS (
    SELECT i.round, i.enumerator_code, r.submission_id, r.residual
    FROM (SELECT a.submission_id, avg(a.score - p.peer_mean) AS residual
          FROM item_answers a JOIN peers p USING (g, k)
          GROUP BY a.submission_id) r
    JOIN interviewers i USING (submission_id)
),
enumerators AS (
    SELECT r.round, r.enumerator_code, count(*) AS interviews, avg(r.residual) AS d,
           stddev_samp(r.residual) / sqrt(count(*)) AS se
    FROM residuals r CROSS JOIN study_method m
    GROUP BY r.round, r.enumerator_code
    HAVING count(*) >= any_value(m.enumerator_min_interviews)
),
centre AS (
    SELECT round, median(d) AS centre, count(*) AS compared FROM enumerators GROUP BY round
),
spread AS (
    SELECT e.round,
           CASE WHEN median(abs(e.d - c.centre)) > 0 THEN 1.4826 * median(abs(e.d - c.centre))
                ELSE 1.253314 * avg(abs(e.d - c.centre)) END AS scale
    FROM enumerators e JOIN centre c USING (round) GROUP BY e.round
),
outliers AS (
    SELECT e.*, c.compared,
           (e.d - c.centre) / nullif(greatest(s.scale, coalesce(e.se, 0)), 0) AS z
    FROM enumerators e JOIN centre c USING (round) JOIN spread s USING (round)
    WHERE c.compared >= 3
),
enumerator_outlier AS (
    SELECT i.submission_id, 'enumerator_outlier',
           format('enumerator {}: answers {:+.2f} points from the other enumerators'' in the same villages on average over {} interviews (z = {:.1f} among {} enumerators)',
                  o.enumerator_code, o.d, o.interviews, o.z, o.compared),
           o.z, m.enumerator_outlier_z
    FROM outliers o
    JOIN stg_interviews i ON i.round = o.round AND i.enumerator_code = o.enumerator_code
    CROSS JOIN study_method m
    WHERE abs(o.z) > m.enumerator_outlier_z AND i.consent = 'yes'
),
flags AS (
    SELECT * FROM duplicate_instance
    UNION ALL SELECT * FROM outside_window
    UNION ALL SELECT * FROM too_short
    UNION ALL SELECT * FROM straight_lining
    UNION ALL SELECT * FROM gps_missing
    UNION ALL SELECT * FROM gps_far
    UNION ALL SELECT * FROM enumerator_outlier
)
SELECT i.round, i.municipality_code, i.village_code, i.enumerator_code, i.interview_date,
       f.submission_id, i.instance_id, i.instance_name, f.rule, f.detail, f.measure, f.threshold,
       list_contains(m.exclude_rules, f.rule) AS excludes
FROM flags f
JOIN stg_interviews i USING (submission_id)
CROSS JOIN study_method m
