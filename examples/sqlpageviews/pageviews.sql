-- Page views per region per minute: each view is joined with its user's
-- region, then counted in one-minute tumbling windows.
CREATE STREAM pageviews (user_id STRING KEY, page STRING)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=3);

CREATE TABLE users (user_id STRING PRIMARY KEY, region STRING)
  WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=3);

CREATE TABLE views_per_region WITH (KAFKA_TOPIC='views-per-region') AS
  SELECT u.region AS region, COUNT(*) AS views
  FROM pageviews pv JOIN users u ON pv.user_id = u.user_id
  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 1 HOUR)
  GROUP BY u.region
  EMIT CHANGES;
