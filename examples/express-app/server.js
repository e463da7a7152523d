// A small Express app HiveMind can deploy: a page, a JSON API and a health route.
const express = require("express");
const os = require("os");

const app = express();
const port = process.env.PORT || 3000;
const startedAt = new Date();

app.get("/", (req, res) => {
  const greeting = process.env.GREETING || "Hello from HiveMind";
  res.send(`<h1>${greeting}</h1><p>served by ${os.hostname()}</p>`);
});

app.get("/api/time", (req, res) => {
  res.json({ now: new Date().toISOString(), upSince: startedAt.toISOString() });
});

app.get("/health", (req, res) => {
  res.json({ status: "ok" });
});

app.listen(port, () => {
  console.log(`express-app listening on ${port}`);
});
