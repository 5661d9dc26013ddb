"""Server-rendered pages (HTML); edges only."""
