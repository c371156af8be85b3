-- Retention by TTL, for ClickHouse 19.6 and later (Debian 12's 18.16 has
-- no TTL: drop day partitions there). Adjust the intervals to taste.
ALTER TABLE agentwatch.alerts MODIFY TTL time + INTERVAL 180 DAY;
ALTER TABLE agentwatch.chains MODIFY TTL start + INTERVAL 90 DAY;
ALTER TABLE agentwatch.calls MODIFY TTL time + INTERVAL 30 DAY;
ALTER TABLE agentwatch.effects MODIFY TTL time + INTERVAL 30 DAY;
