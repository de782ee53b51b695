"""MCP server: finlineage's lineage tools over stdio (`finlineage mcp`) and streamable HTTP
(`/mcp` on the API server)."""
