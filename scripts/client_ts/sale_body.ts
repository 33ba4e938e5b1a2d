// Written as an integrator would write it, against types generated from the schema:
//
//   npx openapi-typescript http://127.0.0.1:8000/api/schema/ --default-non-nullable=false -o sales-api.d.ts
//
// scripts/client_check.sh generates ./sales-api.d.ts next to a copy of this file and runs
// `tsc --noEmit --strict` (tsconfig.json here). Nothing is executed: if this compiles, the schema describes a
// create-sale body, a Sale and the error bodies well enough to program against. A renamed or newly required
// field makes tsc fail; the `@ts-expect-error` lines fail if the types ever go loose (`any`, `string` for an enum).
import type { components, paths } from "./sales-api";

type Schemas = components["schemas"];
export type SaleCreate = Schemas["SaleCreateRequest"];
export type SaleItemInput = Schemas["SaleItemInputRequest"];
export type Sale = Schemas["Sale"];
export type SaleStatus = Schemas["SaleStatusEnum"];

// The operation as openapi-fetch sees it: POST /api/v1/sales/.
type CreateSale = paths["/api/v1/sales/"]["post"];
type CreateBody = CreateSale["requestBody"]["content"]["application/json"];
type Created = CreateSale["responses"][201]["content"]["application/json"];
type ValidationFailed = CreateSale["responses"][400]["content"]["application/json"];
type Conflict = CreateSale["responses"][409]["content"]["application/json"];

/** Money goes over the wire as a decimal string with 2 places, never a float. */
export const money = (cents: number): string => (cents / 100).toFixed(2);

export interface CartLine {
  variantId: number;
  quantity: number;
  unitPriceCents?: number; // charged price; the catalogue price when absent
  lineDiscountCents?: number;
}

/** A shop-counter sale: two lines, 10% off the order, a card payment, a shipping address. */
export function buildSaleBody(cart: CartLine[], customerId: number | null, paidCents: number): CreateBody {
  const body: SaleCreate = {
    reference: `POS-${Date.now()}`,
    customer: customerId,
    channel: "pos",
    tax: "vat20",
    prices_include_tax: true,
    discount: "10.00",
    discount_type: "percent",
    items: cart.map((line): SaleItemInput => {
      const item: SaleItemInput = { variant: line.variantId, quantity: line.quantity };
      if (line.unitPriceCents !== undefined) item.unit_price = money(line.unitPriceCents);
      if (line.lineDiscountCents) {
        item.discount = money(line.lineDiscountCents);
        item.discount_type = "fixed";
      }
      return item;
    }),
    payments: [{ amount: money(paidCents), method: "card", reference: "CARD-8F3K2Q" }],
    shipping_address: {
      name: "Ada Lovelace",
      line1: "12 St James's Square",
      city: "London",
      postal_code: "SW1Y 4JH",
      country: "GB",
    },
    note: "Gift wrap, please.",
    tags: ["walk-in"],
  };
  return body;
}

export const exampleBody: SaleCreate = {
  items: [
    { variant: 311, quantity: 2, unit_price: "19.99" },
    { variant: 312, quantity: 1, discount: "1.50", discount_type: "fixed" },
  ],
  discount: "5.00",
  discount_type: "fixed",
  status: "pending",
};

/** Reading the 201 answer (the same Sale shape as GET /api/v1/sales/{id}/). */
export function describeSale(sale: Created): string {
  const id: number = sale.id;
  const reference: string = sale.reference;
  const status: SaleStatus = sale.status;
  const grandTotal: string = sale.grand_total; // "43.63": parse with a decimal library, not parseFloat
  const skus: string[] = sale.items.map((item) => item.sku);
  const lineTotals: string[] = sale.items.map((item) => `${item.sku} x${item.quantity} = ${item.total}`);
  const customer: string = sale.customer?.name ?? "walk-in";
  const taxRate: string | undefined = sale.tax?.rate;
  const canConfirm: boolean = sale.available_transitions.includes("confirmed");
  const paid: string[] = sale.payments.map((p) => `${p.method} ${p.amount}`);
  return [
    `#${id} ${reference} (${status}${canConfirm ? ", can be confirmed" : ""}) for ${customer}`,
    `grand total ${grandTotal} ${sale.currency}, due ${sale.balance_due}, tax ${taxRate ?? "none"}`,
    `skus: ${skus.join(", ")}`,
    ...lineTotals,
    ...paid,
  ].join("\n");
}

/** The error bodies of the create call: one entry per problem, `attr` is the dotted field path. */
export type CreateError = { status: 400; body: ValidationFailed } | { status: 409; body: Conflict };

export function explainError(error: CreateError): string[] {
  if (error.status === 409) {
    return error.body.errors.map((e) =>
      e.code === "insufficient_stock"
        ? `${e.attr ?? "items"}: only ${e.available ?? 0} of ${e.requested ?? 0} in stock`
        : `${e.code}: ${e.detail}`,
    );
  }
  const kind: "validation_error" | "client_error" = error.body.type;
  return error.body.errors.map((e) => `${kind} ${e.attr ?? "(body)"}: ${e.code} (${e.detail})`);
}

// The types are strict: each line below must be a type error (tsc fails if it is not).
export const looseMoney: SaleCreate = {
  items: [{ variant: 311, quantity: 1 }],
  // @ts-expect-error money is a decimal string, "19.99", never a number
  discount: 19.99,
};
// @ts-expect-error "shipped" is not a sale status (in_delivery is)
export const unknownStatus: SaleStatus = "shipped";
// @ts-expect-error an item needs a quantity
export const noQuantity: SaleCreate = { items: [{ variant: 311 }] };
export function readOnlyTotal(sale: Sale): void {
  // @ts-expect-error response fields are read-only; totals are computed by the server
  sale.grand_total = "0.00";
}
