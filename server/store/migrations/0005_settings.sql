-- Values the server keeps about itself, such as the public URL it last
-- served at (so the CLI's login links point at the running server).
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
