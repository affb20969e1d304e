// Numbers inside the sentences the data layer writes (dead-zone and green reasons), in Vietnamese format:
// decimal comma, dot thousands separator ("99,5", "1.234"). Figures themselves stay plain numbers in the model.
const formats = new Map<number, Intl.NumberFormat>();

export function fmtNum(n: number, maxFractionDigits = 2): string {
  let f = formats.get(maxFractionDigits);
  if (!f) formats.set(maxFractionDigits, (f = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: maxFractionDigits })));
  return f.format(n);
}
