-- Every theme a focus-group session that counts recorded (one row per entry of the theme
-- repeat): the service, the codebook theme, its sentiment, how many participants agreed out of
-- how many took part, the note-taker's summary and the group's recommendation. fg_themes counts
-- them; a report drafting recommendations reads the texts here.
SELECT
    s.round, s.municipality_code, s.village_code, s.group_type, s.session_date,
    t.fg_theme_service AS service_code,
    t.fg_theme_code AS theme_code,
    t.fg_theme_sentiment AS sentiment,
    least(t.fg_theme_agreed, s.participants) AS agreed,
    s.participants,
    t.fg_theme_summary AS summary,
    t.fg_theme_recommendation AS recommendation,
    s.submission_id, s.instance_name,
    t._index AS theme_index
FROM src_fg_theme t
JOIN stg_focus_groups s ON s.submission_id = t._submission__id
WHERE s.excluded_reason IS NULL AND t.fg_theme_service IS NOT NULL
