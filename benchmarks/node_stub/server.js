// A node `soap` stub answering IPS submitJob with a handle: the speed contender the issue
// names (benchmarks/contenders.py starts it). Usage: node server.js PORT
const http = require("http");
const fs = require("fs");
const path = require("path");
const soap = require("soap");

const port = Number(process.argv[2]);
const wsdl = fs.readFileSync(path.join(__dirname, "stub.wsdl"), "utf8");
let next = 0;
const service = {
  IpsApiService: {
    IpsApiSoapPort: {
      submitJob(args) {
        next += 1;
        return { jobHandle: `j|1|${args.jobName}|${next}` };
      },
    },
  },
};
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/") {
    res.end("node soap stub\n");
  }
});
server.keepAliveTimeout = 30000;
server.listen(port, "127.0.0.1", () => {
  soap.listen(server, "/scene7/services/IpsApiService", service, wsdl);
  console.log(`listening on ${port}`);
});
