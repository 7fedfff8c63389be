// One mesh painter for both 3D views: the notebook's MeshView (sbsr_lab/widgets/mesh_view.py inlines this file)
// and the app's page (index.html loads it before app.js). Flat-shaded triangles in painter's order on a 2D
// canvas, lit from the front upper left, two-sided (meshes need not be oriented): no library, nothing fetched.
//   v: flat vertex list (V*3), centred, unit scale, Y up;  f: flat face list (F*3);
//   yaw, pitch: radians (turn about Y, then tilt about X);  scale, ox, oy: canvas pixels per unit and the centre.
function paintMesh(ctx, v, f, yaw, pitch, scale, ox, oy) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  const n = v.length / 3, P = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const x = v[3 * i], y = v[3 * i + 1], z = v[3 * i + 2];
    const x1 = cy * x + sy * z, z1 = -sy * x + cy * z;
    P[3 * i] = x1; P[3 * i + 1] = cp * y - sp * z1; P[3 * i + 2] = sp * y + cp * z1;
  }
  const tris = [];
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t], b = 3 * f[t + 1], c = 3 * f[t + 2];
    const ux = P[b] - P[a], uy = P[b + 1] - P[a + 1], uz = P[b + 2] - P[a + 2];
    const wx = P[c] - P[a], wy = P[c + 1] - P[a + 1], wz = P[c + 2] - P[a + 2];
    const nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.hypot(nx, ny, nz) || 1;
    const light = Math.abs((0.35 * nx + 0.55 * ny + 0.76 * nz) / len);
    tris.push([(P[a + 2] + P[b + 2] + P[c + 2]) / 3, a, b, c, light]);
  }
  tris.sort((p, q) => p[0] - q[0]);
  for (const [, a, b, c, light] of tris) {
    const s = Math.round(70 + 150 * light);
    ctx.fillStyle = `rgb(${Math.round(s * 0.62)},${Math.round(s * 0.74)},${s})`;
    ctx.beginPath();
    ctx.moveTo(ox + scale * P[a], oy - scale * P[a + 1]);
    ctx.lineTo(ox + scale * P[b], oy - scale * P[b + 1]);
    ctx.lineTo(ox + scale * P[c], oy - scale * P[c + 1]);
    ctx.closePath(); ctx.fill();
    ctx.strokeStyle = ctx.fillStyle; ctx.lineWidth = 0.6; ctx.stroke();
  }
}
