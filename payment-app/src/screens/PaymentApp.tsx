/**
 * One entry point for hosts that open Payment Apps by name: renders the screen for
 * `paymentAppData.appName`. @see ../host/contract.ts
 */
import {
  TERMINAL_CONNECTOR_APP,
  WAIT_FOR_CONFIRMATION_APP,
  type ConnectorResult,
  type TerminalConnectorProps,
  type WaitForConfirmationProps,
  type WaitResult,
} from '../host/contract.ts';
import { TerminalConnectorScreen } from './TerminalConnectorScreen.tsx';
import { WaitForConfirmationScreen } from './WaitForConfirmationScreen.tsx';

/** Props of {@link PaymentApp}: the app name plus the union of both screens' options. */
export type PaymentAppProps = Omit<TerminalConnectorProps, 'onClose'> &
  Omit<WaitForConfirmationProps, 'onClose'> & {
    /** `paymentAppData.appName`. */
    readonly appName: string;
    /** Called once with the screen's result. */
    readonly onClose: (result: ConnectorResult | WaitResult) => void;
  };

/** Renders the Payment App named `appName`; throws for a name posbridge does not serve. */
export function PaymentApp(props: PaymentAppProps) {
  const { appName, ...rest } = props;
  if (appName === TERMINAL_CONNECTOR_APP) return <TerminalConnectorScreen {...rest} />;
  if (appName === WAIT_FOR_CONFIRMATION_APP) return <WaitForConfirmationScreen {...rest} />;
  throw new Error(`posbridge serves no Payment App named ${appName}`);
}
