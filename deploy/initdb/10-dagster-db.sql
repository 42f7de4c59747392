-- Dagster's storage lives in its own database next to LEAP's (created by POSTGRES_DB).
CREATE DATABASE dagster OWNER leap;
