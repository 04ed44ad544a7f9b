CREATE STREAM pageviews (user_id STRING KEY, page STRING, ms BIGINT)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON');
CREATE STREAM slow AS SELECT user_id, UCASE(page) AS page, ms / 1000 AS secs
  FROM pageviews WHERE ms > 500;
