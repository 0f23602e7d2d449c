"""Reading posts into claims with a rules pack that is data (YAML), not code. See spec/claims.md."""
