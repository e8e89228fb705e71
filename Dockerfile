# Image for deploy/kubernetes: builds once, then keeps only runtime dependencies.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts ./scripts
# The image's `node` user (uid 1000) matches the Deployment's runAsUser.
USER node
EXPOSE 8000
# Same node flags as `npm start` (docs/server.md, "Memory").
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/server.js"]
