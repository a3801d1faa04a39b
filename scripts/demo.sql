-- Demo data for `make run`.  Every call is idempotent: re-running changes nothing.
SELECT metastore.put_record('production', 'app.database.pool_size', '10',
       tags => '{database,performance}', description => 'Database connection pool size');
SELECT metastore.put_record('production', 'app.cache.ttl_seconds', '300',
       tags => '{cache}', owner => 'platform-team');
SELECT metastore.put_record('catalog', 'datasets/orders',
       '{"owner_team": "commerce", "schema_version": 3, "pii": false,
         "columns": ["id", "customer_id", "total", "created_at"]}',
       tags => '{dataset,commerce}', owner => 'commerce-team',
       description => 'Orders fact table');
SELECT metastore.put_record('catalog', 'jobs/nightly-rollup',
       '{"schedule": "0 3 * * *", "retries": 2, "enabled": true}',
       tags => '{job}', owner => 'data-eng');
SELECT metastore.put_record('catalog', 'docs/readme', to_jsonb('# Catalog\nAll datasets.'::text),
       content_type => 'text');
