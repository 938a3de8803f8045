-- The compose setup's database, on first start of the postgres container (docker-entrypoint-initdb.d).
-- DEVELOPMENT CREDENTIALS ONLY: the production override uses a managed PostgreSQL and passwords from secrets.
-- The exchange runs as exchange_app, which may insert audit events but never change or delete them; the
-- migration (run as the owner, postgres) grants it its rights.
CREATE ROLE exchange_app LOGIN PASSWORD 'dev-only-app-password';
