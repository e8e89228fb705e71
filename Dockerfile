# Image for deploy/kubernetes: builds once, then keeps only runtime dependencies.
# Node 24 LTS (supported until April 2028); the suite also runs on Node 20 and 22 (.ci/run).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
# Every interface: inside a container 127.0.0.1 is reachable neither through `docker run -p` nor by
# Kubernetes probes. `npm start` outside a container keeps the 127.0.0.1 default.
ENV HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts ./scripts
# The default key directory, writable by the daemon's user, so a first run can generate its key
# (mount a volume here to keep it; Kubernetes mounts a Secret and passes --key-file instead).
RUN mkdir -m 0700 api && chown node:node api
# The image's `node` user (uid 1000) matches the Deployment's runAsUser.
USER node
EXPOSE 8000
# Same node flags as `npm start` (docs/server.md, "Memory").
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/server.js"]
