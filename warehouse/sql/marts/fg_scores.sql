-- The focus groups' own 1-5 scores of their priority services beside the survey, per round x
-- municipality x service x group type: the group's satisfaction score (every group) and
-- performance score (LSG staff), their means over the sessions that scored the service, each as
-- a 0-100 index (mean - 1) / 4 x 100. Beside them the survey's S and the LSG assessment's E for
-- the same cell (gap_scores). The group's satisfaction is set against S as the study reports it
-- (method.headline_satisfaction; the mean index is beside it for a reading on the group's own
-- (mean - 1) / 4 x 100 scale) and the staff's performance against E; a difference of more than
-- quality.fg_score_gap points (default 25: one step of the 1-5 scale) marks a disagreement. No
-- comparison with a suppressed S or a missing E.
-- The scores are the focus_group form's <prefix>_fg_satisfaction and <prefix>_fg_performance
-- answers, reached through dim_service.prefix; score5 codes marked missing are left out.
WITH scores AS (
    SELECT s.round, s.municipality_code, d.service_code, s.group_type, s.submission_id,
           max(a.value_numeric) FILTER (WHERE a.question = d.prefix || '_fg_satisfaction')
               AS satisfaction,
           max(a.value_numeric) FILTER (WHERE a.question = d.prefix || '_fg_performance')
               AS performance
    FROM src_answers a
    JOIN dim_service d ON a.question IN (d.prefix || '_fg_satisfaction',
                                         d.prefix || '_fg_performance')
    JOIN stg_focus_groups s ON s.submission_id = a.submission_id
    LEFT JOIN dim_scale c ON c.scale = 'score5' AND c.code = a.value
    WHERE a.form_id = 'focus_group' AND a.repeat_path = '' AND s.excluded_reason IS NULL
      AND a.value_numeric IS NOT NULL AND NOT coalesce(c.missing, false)
    GROUP BY ALL
),
groups AS (
    SELECT round, municipality_code, service_code, group_type,
           count(satisfaction) AS satisfaction_sessions,
           avg(satisfaction) AS satisfaction_score,
           (avg(satisfaction) - 1) / 4 * 100 AS satisfaction_index,
           count(performance) AS performance_sessions,
           avg(performance) AS performance_score,
           (avg(performance) - 1) / 4 * 100 AS performance_index
    FROM scores
    GROUP BY ALL
),
compared AS (
    SELECT g.*,
           s.satisfaction AS survey_satisfaction,
           s.satisfaction_mean_index AS survey_satisfaction_mean_index,
           s.n AS survey_n,
           coalesce(s.suppressed, true) AS survey_suppressed,
           s.effectiveness,
           CASE WHEN NOT coalesce(s.suppressed, true)
                THEN g.satisfaction_index - s.satisfaction END AS satisfaction_difference,
           g.performance_index - s.effectiveness AS performance_difference,
           m.fg_score_gap
    FROM groups g
    CROSS JOIN study_method m
    LEFT JOIN gap_scores s USING (round, municipality_code, service_code)
)
SELECT *,
       abs(satisfaction_difference) > fg_score_gap AS satisfaction_disagrees,
       abs(performance_difference) > fg_score_gap AS performance_disagrees,
       coalesce(abs(satisfaction_difference) > fg_score_gap, false)
           OR coalesce(abs(performance_difference) > fg_score_gap, false) AS disagrees
FROM compared
