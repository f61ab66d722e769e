-- 0002: the kind of a user (airlock.User.Kind): '' for a person, 'agent'
-- for an AI agent or program that acts through the MCP server.

ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT '';
