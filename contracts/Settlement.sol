// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AgentRoles} from "./AgentRoles.sol";

/// @notice The part of `SecurityToken` the settlement uses (ERC-20 + ERC-1404).
interface IRestrictedToken {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function allowance(address owner_, address spender) external view returns (uint256);
    function detectTransferRestriction(address from, address to, uint256 amount) external view returns (uint8);
    function deviceId() external view returns (bytes32);
}

/// @notice The part of `TokenFactory` the settlement uses.
interface ITokenRegistry {
    function tokenForDevice(bytes32 deviceId) external view returns (address);
}

/// @title Settlement
/// @notice Secondary-market offer board with atomic delivery-versus-payment. A seller posts
///         an offer (token, units, price per unit in stablecoin base units, expiry) after
///         approving this contract for the units on the token. A buyer who approved the
///         stablecoin calls `take(offerId, units, pricePerUnit)`; the echoed price makes a
///         changed offer unfillable at another price. One transaction moves the units
///         seller -> buyer with the token's own `transferFrom` (so every compliance rule of
///         the token applies) and the stablecoin buyer -> seller (fee in basis points to the
///         fee wallet), or reverts whole. Funds never rest here: both legs go wallet to
///         wallet, so the contract holds no balance after any call.
/// @dev Sellers keep their units (no escrow) until a fill; an offer whose seller moved the
///      units or withdrew the allowance simply fails to fill. Agents can cancel any offer
///      (frozen tokens, a token being wound down). Only tokens deployed by the platform's
///      factory can be posted (a look-alike token cannot borrow the board's market data), and
///      the fee is bound when an offer is posted: a fill pays that fee or the current one if
///      lower, so the seller never pays more than they saw.
///      `takeFor` lets an agent pay from its own balance for a buyer's units (a card-funded
///      purchase): the payment never rests in a wallet the buyer controls, so it cannot be
///      spent elsewhere before the trade settles.
contract Settlement is AgentRoles, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Upper bound on the platform fee: 10 %.
    uint16 public constant MAX_FEE_BPS = 1_000;

    struct Offer {
        address seller; // 20 bytes
        uint64 expiry; // unix seconds, last second the offer can be taken
        address token;
        uint64 units; // units still on offer
        uint128 pricePerUnit; // stablecoin base units per token unit
        uint16 feeBps; // the fee when posted (same slot as the price)
    }

    /// @notice The stablecoin every offer is priced and paid in.
    IERC20 public immutable stablecoin;
    /// @notice The factory whose tokens can be offered here.
    ITokenRegistry public immutable factory;
    address public feeWallet;
    uint16 public feeBps;
    uint256 public nextOfferId = 1;
    mapping(uint256 => Offer) private _offers;

    event OfferPosted(
        uint256 indexed offerId,
        address indexed seller,
        address indexed token,
        uint256 units,
        uint256 pricePerUnit,
        uint256 expiry
    );
    /// @notice `paid` = what the buyer paid in total (the seller got `paid - fee`).
    event OfferTaken(
        uint256 indexed offerId,
        address indexed buyer,
        address indexed seller,
        address token,
        uint256 units,
        uint256 pricePerUnit,
        uint256 paid,
        uint256 fee
    );
    event OfferCancelled(uint256 indexed offerId, address indexed by);
    event FeeUpdated(uint16 feeBps, address feeWallet);

    error OfferNotFound(uint256 offerId);
    error OfferExpired(uint256 offerId);
    error PriceChanged(uint256 offerId, uint256 expected, uint256 actual);
    error InsufficientUnits(uint256 offerId, uint256 available, uint256 requested);
    error InvalidOffer();
    error NotSellerOrAgent(address caller);
    error FeeTooHigh(uint16 feeBps);
    error SelfTrade();
    /// @notice The seller cannot transfer these units now (ERC-1404 code of the token).
    error TransferRestricted(uint8 code);
    error AllowanceTooLow(uint256 allowance, uint256 units);
    /// @notice The token was not deployed by the platform's factory.
    error UnknownToken(address token);
    /// @notice The token's `transferFrom` returned false.
    error TokenLegFailed();

    constructor(address owner_, IERC20 stablecoin_, address feeWallet_, uint16 feeBps_, ITokenRegistry factory_) {
        if (address(stablecoin_) == address(0) || address(factory_) == address(0)) revert ZeroAddress();
        _initOwner(owner_);
        stablecoin = stablecoin_;
        factory = factory_;
        _setFee(feeBps_, feeWallet_);
    }

    // ---------------------------------------------------------------- views

    /// @notice An offer (seller zero = unknown, filled or cancelled).
    function offer(uint256 offerId)
        external
        view
        returns (address seller, address token, uint256 units, uint256 pricePerUnit, uint256 expiry)
    {
        Offer memory o = _offers[offerId];
        return (o.seller, o.token, o.units, o.pricePerUnit, o.expiry);
    }

    /// @notice Total and fee for `units` of offer `offerId` at its price and fee.
    function quote(uint256 offerId, uint256 units) external view returns (uint256 paid, uint256 fee) {
        Offer memory o = _offers[offerId];
        paid = units * o.pricePerUnit;
        fee = (paid * _feeOf(o.feeBps)) / 10_000;
    }

    /// @notice The fee (basis points) offer `offerId` pays: the one when it was posted, or the
    ///         current one if lower.
    function offerFeeBps(uint256 offerId) external view returns (uint16) {
        return _feeOf(_offers[offerId].feeBps);
    }

    function _feeOf(uint16 postedBps) private view returns (uint16) {
        uint16 current = feeBps;
        return postedBps < current ? postedBps : current;
    }

    // ---------------------------------------------------------------- seller

    /// @notice Posts an offer of `units` of `token` at `pricePerUnit` until `expiry`. The
    ///         caller must be able to transfer the units now (lock-up, freeze, pause and
    ///         unfrozen balance are checked by the token's own ERC-1404 answer) and must have
    ///         approved this contract for at least `units`.
    function post(address token, uint256 units, uint256 pricePerUnit, uint256 expiry)
        external
        returns (uint256 offerId)
    {
        if (
            token == address(0) || units == 0 || units > type(uint64).max || pricePerUnit == 0
                || pricePerUnit > type(uint128).max || expiry <= block.timestamp || expiry > type(uint64).max
        ) revert InvalidOffer();
        if (factory.tokenForDevice(IRestrictedToken(token).deviceId()) != token) revert UnknownToken(token);
        // from == to asks the token about the sender side only (pause, freezes, unfrozen
        // balance, lock-up, seller verified): the buyer is not known yet.
        uint8 code = IRestrictedToken(token).detectTransferRestriction(msg.sender, msg.sender, units);
        if (code != 0) revert TransferRestricted(code);
        uint256 allowed = IRestrictedToken(token).allowance(msg.sender, address(this));
        if (allowed < units) revert AllowanceTooLow(allowed, units);
        offerId = nextOfferId++;
        _offers[offerId] = Offer(msg.sender, uint64(expiry), token, uint64(units), uint128(pricePerUnit), feeBps);
        emit OfferPosted(offerId, msg.sender, token, units, pricePerUnit, expiry);
    }

    /// @notice Cancels an offer: its seller, or an agent (e.g. the token's wallet is frozen).
    function cancel(uint256 offerId) external {
        address seller = _offers[offerId].seller;
        if (seller == address(0)) revert OfferNotFound(offerId);
        if (msg.sender != seller && !isAgent(msg.sender)) revert NotSellerOrAgent(msg.sender);
        delete _offers[offerId];
        emit OfferCancelled(offerId, msg.sender);
    }

    // ---------------------------------------------------------------- buyer

    /// @notice Takes `units` of offer `offerId`, echoing the `pricePerUnit` the buyer saw.
    ///         Units go seller -> caller through the token's `transferFrom` (full compliance),
    ///         then `units * pricePerUnit` of stablecoin goes caller -> seller, minus the fee
    ///         which goes caller -> fee wallet. Any failing leg reverts the whole call.
    function take(uint256 offerId, uint256 units, uint256 pricePerUnit) external nonReentrant {
        _take(offerId, units, pricePerUnit, msg.sender);
    }

    /// @notice `take` paid by the calling agent for `buyer`, who receives the units: the
    ///         stablecoin goes from the agent (the platform's treasury, paid by card) straight
    ///         to the seller, in the same transaction as the units, or nothing moves.
    function takeFor(uint256 offerId, uint256 units, uint256 pricePerUnit, address buyer)
        external
        onlyAgent
        nonReentrant
    {
        if (buyer == address(0)) revert ZeroAddress();
        _take(offerId, units, pricePerUnit, buyer);
    }

    function _take(uint256 offerId, uint256 units, uint256 pricePerUnit, address buyer) private {
        Offer storage o = _offers[offerId];
        address seller = o.seller;
        if (seller == address(0)) revert OfferNotFound(offerId);
        if (block.timestamp > o.expiry) revert OfferExpired(offerId);
        if (pricePerUnit != o.pricePerUnit) revert PriceChanged(offerId, pricePerUnit, o.pricePerUnit);
        uint256 available = o.units;
        if (units == 0 || units > available) revert InsufficientUnits(offerId, available, units);
        if (buyer == seller) revert SelfTrade();
        address token = o.token;
        uint256 paid = units * pricePerUnit;
        uint256 fee = (paid * _feeOf(o.feeBps)) / 10_000;
        if (units == available) {
            delete _offers[offerId];
        } else {
            o.units = uint64(available - units);
        }

        // Token leg first: a compliance refusal reverts with the token's TransferRestricted(code).
        if (!IRestrictedToken(token).transferFrom(seller, buyer, units)) revert TokenLegFailed();
        stablecoin.safeTransferFrom(msg.sender, seller, paid - fee);
        if (fee != 0) stablecoin.safeTransferFrom(msg.sender, feeWallet, fee);
        emit OfferTaken(offerId, buyer, seller, token, units, pricePerUnit, paid, fee);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the platform fee (basis points, 0 allowed, at most `MAX_FEE_BPS`).
    function setFee(uint16 feeBps_, address feeWallet_) external onlyOwner {
        _setFee(feeBps_, feeWallet_);
    }

    function _setFee(uint16 feeBps_, address feeWallet_) private {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_);
        if (feeBps_ != 0 && feeWallet_ == address(0)) revert ZeroAddress();
        feeBps = feeBps_;
        feeWallet = feeWallet_;
        emit FeeUpdated(feeBps_, feeWallet_);
    }
}
